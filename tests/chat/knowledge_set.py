# ruff: noqa: E501
"""The knowledge base's test set: 40 entries about a fictional product (Larkspur, a bookings
app for salons and studios), paraphrases of them as a visitor would type them (none is an
entry's own wording), and off-topic questions the bot must never answer. The thresholds in
``chat.knowledge.THRESHOLDS`` are calibrated on it (decision 0038)."""

# (title, answer, other phrasings)
QUESTIONS = [
    (
        "How much does Larkspur cost?",
        "Larkspur Solo is $19 a month, Studio is $49 a month for up to 10 staff, and Salon Pro is $99 a month with unlimited staff.",
        ["What are your prices?", "Pricing plans"],
    ),
    (
        "Is there a free trial?",
        "Every plan starts with a 14-day free trial; no card is needed to start.",
        ["Can I try it for free?"],
    ),
    (
        "How do I cancel my subscription?",
        "Go to Settings → Billing → Cancel plan. You keep access until the end of the paid period.",
        ["Stop my plan"],
    ),
    (
        "Can I get a refund?",
        "We refund the last payment in full if you ask within 30 days of it.",
        ["Money back guarantee"],
    ),
    (
        "Which payment methods do you accept?",
        "We accept Visa, Mastercard, American Express and SEPA direct debit; yearly plans can also pay by bank transfer.",
        ["Can I pay with PayPal?"],
    ),
    (
        "Do you offer a discount for yearly billing?",
        "Yes: paying yearly gives two months free (about 17% off).",
        ["Annual plan discount"],
    ),
    (
        "How do clients book an appointment?",
        "Clients pick a service, a staff member and a free slot on your booking page, then confirm with their email or phone number.",
        ["How does online booking work for customers?"],
    ),
    (
        "Can I add Larkspur booking to my website?",
        "Yes: paste the booking widget snippet from Settings → Booking page into your site, or link to your larkspur.page address.",
        ["Embed the booking widget"],
    ),
    (
        "Does Larkspur send appointment reminders?",
        "Clients get an email reminder 24 hours before and an SMS reminder 2 hours before their appointment; you can change both times.",
        ["Automatic reminders"],
    ),
    (
        "How many SMS messages are included?",
        "Studio includes 200 SMS a month and Salon Pro 1,000; more cost 5 cents each.",
        ["SMS limits"],
    ),
    (
        "Can clients cancel or reschedule themselves?",
        "Yes, from the link in their confirmation email, up to the cancellation window you set (24 hours by default).",
        ["Let customers move their booking"],
    ),
    (
        "Can I charge a no-show fee?",
        "Yes: require a card at booking and Larkspur charges your no-show fee when you mark the appointment as a no-show.",
        ["Penalty for missed appointments"],
    ),
    (
        "Can I take deposits?",
        "Yes: set a deposit per service, as a fixed amount or a percentage, paid when the client books.",
        ["Prepayment for bookings"],
    ),
    (
        "Which payment processors work with Larkspur?",
        "Payments go through Stripe or Square; connect either one in Settings → Payments.",
        ["Stripe integration"],
    ),
    (
        "Does Larkspur sync with Google Calendar?",
        "Yes: each staff member can connect Google Calendar or Outlook; busy times block bookings and appointments appear in their calendar.",
        ["Calendar integration"],
    ),
    (
        "Is there a mobile app?",
        "Yes, Larkspur has iPhone and Android apps for staff; clients book in the browser, no app needed.",
        ["iOS app"],
    ),
    (
        "How do I add staff members?",
        "Go to Team → Invite, enter their email and choose their services and working hours.",
        ["Invite employees"],
    ),
    (
        "Can each staff member have their own working hours?",
        "Yes: set weekly hours, breaks and days off per person in Team → Schedule.",
        ["Individual schedules"],
    ),
    (
        "How do I set up my services?",
        "In Services, add each one with its name, duration, price and the staff who offer it.",
        ["Create a service"],
    ),
    (
        "Can I sell gift cards?",
        "Yes, Studio and Salon Pro can sell gift cards on the booking page; clients redeem them at checkout.",
        ["Gift vouchers"],
    ),
    (
        "Do you have a loyalty program feature?",
        "Salon Pro includes loyalty points: clients earn points per visit and redeem them for discounts.",
        ["Reward regular clients"],
    ),
    (
        "Can I import my client list?",
        "Yes: upload a CSV or Excel file in Clients → Import; we match columns like name, email and phone.",
        ["Move my customers from another system"],
    ),
    (
        "Can I export my data?",
        "Yes: export clients, appointments and payments as CSV at any time from Settings → Data.",
        ["Download all my data"],
    ),
    (
        "Is my data secure?",
        "Data is encrypted in transit and at rest, stored in the EU, backed up daily, and we are GDPR compliant.",
        ["Security and privacy"],
    ),
    ("Where is my data stored?", "In data centres in Frankfurt, Germany (EU).", ["Data location"]),
    (
        "Do you have a GDPR data processing agreement?",
        "Yes: sign our DPA online in Settings → Legal.",
        ["DPA"],
    ),
    (
        "How do I reset my password?",
        'Click "Forgot password" on the sign-in page and follow the link we email you.',
        ["I can't log in"],
    ),
    (
        "Can I enable two-factor authentication?",
        "Yes: turn on 2FA with an authenticator app in Profile → Security.",
        ["2FA"],
    ),
    (
        "What languages is Larkspur available in?",
        "The app and booking page are in English, Spanish, French, German and Portuguese.",
        ["Language support"],
    ),
    (
        "Can I have several locations?",
        "Salon Pro supports multiple locations, each with its own staff, hours and booking page.",
        ["Multi-location salons"],
    ),
    (
        "How do I contact support?",
        "Write to help@larkspur.example or use the chat in the app; we answer within 4 business hours.",
        ["Customer service contact"],
    ),
    (
        "What are your support hours?",
        "Support is staffed Monday to Friday, 8:00 to 20:00 CET.",
        ["When is support open?"],
    ),
    (
        "Does Larkspur send marketing emails to my clients?",
        "Yes: Studio and Salon Pro can send campaigns and birthday offers to clients who opted in.",
        ["Email campaigns"],
    ),
    (
        "Can clients leave reviews?",
        "After each visit clients get a review request; you choose which reviews show on your booking page.",
        ["Customer feedback"],
    ),
    (
        "Does Larkspur work with Instagram?",
        "Yes: add a Book button to your Instagram profile and Facebook page that opens your booking page.",
        ["Book from social media"],
    ),
    (
        "Can I manage a waitlist?",
        "Yes: when a slot is full, clients can join the waitlist and get a message when it frees up.",
        ["Fully booked slots"],
    ),
    (
        "Does Larkspur have reports?",
        "Reports show revenue, bookings, no-shows and staff utilisation by day, week or month.",
        ["Analytics"],
    ),
    (
        "Can I sell products like shampoo at checkout?",
        "Yes: add retail products with stock levels and sell them with a service at checkout.",
        ["Retail inventory"],
    ),
]

# (title, body) articles: their paragraphs are the passages.
ARTICLES = [
    (
        "Getting started with Larkspur",
        "Create your account with your business name and email.\n\n"
        "Then add your services, invite your team and set their working hours.\n\n"
        "Finally, share your booking page link with clients or add the widget to your site.",
    ),
    (
        "Commission and payroll for staff",
        "Larkspur calculates commission for each staff member from the services and products "
        "they sell, as a percentage you set per person.\n\n"
        "At the end of each pay period, export the payroll report with hours worked, tips and "
        "commission to your accountant.",
    ),
]

# (question a visitor types, the entry title it must be answered from)
PARAPHRASES = [
    ("what does it cost per month", "How much does Larkspur cost?"),
    ("how expensive is your software", "How much does Larkspur cost?"),
    ("can I test it before paying", "Is there a free trial?"),
    ("do I need a credit card for the trial", "Is there a free trial?"),
    ("I want to end my subscription", "How do I cancel my subscription?"),
    ("how can I get my money back", "Can I get a refund?"),
    ("do you take amex", "Which payment methods do you accept?"),
    ("is it cheaper if I pay for a whole year", "Do you offer a discount for yearly billing?"),
    ("how do my customers make a booking", "How do clients book an appointment?"),
    ("put the booking form on my site", "Can I add Larkspur booking to my website?"),
    (
        "will my clients get reminded of their appointment",
        "Does Larkspur send appointment reminders?",
    ),
    ("how many text messages do I get", "How many SMS messages are included?"),
    (
        "can a customer change their appointment time",
        "Can clients cancel or reschedule themselves?",
    ),
    ("charge people who don't show up", "Can I charge a no-show fee?"),
    ("can clients pay a deposit when booking", "Can I take deposits?"),
    ("do you integrate with square", "Which payment processors work with Larkspur?"),
    ("connect my google calendar", "Does Larkspur sync with Google Calendar?"),
    ("is there an app for my phone", "Is there a mobile app?"),
    ("how do I invite my team", "How do I add staff members?"),
    (
        "set different hours for each employee",
        "Can each staff member have their own working hours?",
    ),
    ("how to add a haircut service with a price", "How do I set up my services?"),
    ("do you support gift certificates", "Can I sell gift cards?"),
    ("reward points for loyal customers", "Do you have a loyalty program feature?"),
    ("upload my existing clients from a spreadsheet", "Can I import my client list?"),
    ("how do I export my appointments", "Can I export my data?"),
    ("is my information safe with you", "Is my data secure?"),
    ("in which country are your servers", "Where is my data stored?"),
    ("I need a data processing agreement", "Do you have a GDPR data processing agreement?"),
    ("forgot my password", "How do I reset my password?"),
    ("turn on two factor login", "Can I enable two-factor authentication?"),
    ("is it available in spanish", "What languages is Larkspur available in?"),
    ("I have two salons in different cities", "Can I have several locations?"),
    ("how can I reach your support team", "How do I contact support?"),
    ("when is your support team available", "What are your support hours?"),
    ("send newsletters to my clients", "Does Larkspur send marketing emails to my clients?"),
    ("can customers rate their visit", "Can clients leave reviews?"),
    ("booking button on instagram", "Does Larkspur work with Instagram?"),
    ("what happens when a time slot is full", "Can I manage a waitlist?"),
    ("can I see my revenue statistics", "Does Larkspur have reports?"),
    ("sell hair products to customers", "Can I sell products like shampoo at checkout?"),
    ("how do I set up my account at the start", "Getting started with Larkspur"),
    ("how is staff commission calculated", "Commission and payroll for staff"),
]

OFF_TOPIC = [
    "what is the capital of australia",
    "who won the world cup in 2018",
    "how do I bake sourdough bread",
    "what is the weather like tomorrow",
    "tell me a joke",
    "how far is the moon from earth",
    "what is the meaning of life",
    "recommend a good movie for tonight",
    "how do I change a car tyre",
    "what's the best programming language",
    "translate hello into japanese",
    "how many calories are in a banana",
    "who is the president of france",
    "can you help me with my maths homework",
    "how do I fix a leaking tap",
    "what time is it in new york",
    "how to train my puppy to sit",
    "where can I buy cheap flights to rome",
    "what is bitcoin worth today",
    "how do vaccines work",
    "write me a poem about the sea",
    "what's the population of brazil",
    "how tall is mount everest",
    "best pizza place near me",
    "how do I grow tomatoes on a balcony",
    "explain quantum computing simply",
    "who wrote pride and prejudice",
    "how to knit a scarf",
    "what is the speed of light",
    "are cats better than dogs",
]
