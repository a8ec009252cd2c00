"""Chat: the chatbot and live chat on a customer's site and in messengers.

Flows that capture a lead answer by answer (the bot engine is a pure interpreter of one flow
version), answers from a knowledge base with citations, hand-over to a person, the live
inbox. Every answer arrives through the lead-arrival service (``contacts.services.arrival``).
"""
