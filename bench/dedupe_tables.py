"""The tables the duplicate-finder benchmark draws from (bench/dedupe_data.py): locales,
mail providers, nicknames, keyboard rows, OCR confusions, street abbreviations, and the
two corruption mixes.

The nickname table is our own, deliberately not the `nicknames` package a finder may
use, so the set does not grade a finder on its own dictionary.
"""

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES")
LOCALE_WEIGHTS = (40, 20, 15, 13, 12)
COUNTRY = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "es_ES": "ES"}
COMPANY_TLD = {"en_US": "com", "en_GB": "co.uk", "de_DE": "de", "fr_FR": "fr", "es_ES": "es"}
FREE_MAIL = {
    "en_US": ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com"),
    "en_GB": ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com"),
    "de_DE": ("gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de"),
    "fr_FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"),
    "es_ES": ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net"),
}

# Formal name -> the short forms people give on forms (by locale's usage, mixed).
NICKNAMES = {
    "William": ("Bill", "Will", "Billy", "Liam"),
    "Robert": ("Bob", "Rob", "Bobby", "Bert"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Richard": ("Rick", "Dick", "Rich"),
    "Michael": ("Mike", "Mick", "Mikey"),
    "Thomas": ("Tom", "Tommy"),
    "Charles": ("Charlie", "Chuck"),
    "Joseph": ("Joe", "Joey"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Edward": ("Ed", "Eddie", "Ted", "Ned"),
    "Nicholas": ("Nick", "Nicky"),
    "Benjamin": ("Ben", "Benny"),
    "Samuel": ("Sam", "Sammy"),
    "Alexander": ("Alex", "Sandy", "Xander"),
    "Andrew": ("Andy", "Drew"),
    "Timothy": ("Tim", "Timmy"),
    "Steven": ("Steve",),
    "Jonathan": ("Jon", "Jonny"),
    "Gregory": ("Greg",),
    "Patrick": ("Pat", "Paddy"),
    "Peter": ("Pete",),
    "Henry": ("Harry", "Hank"),
    "Lawrence": ("Larry",),
    "Frederick": ("Fred", "Freddie"),
    "Margaret": ("Peggy", "Maggie", "Meg", "Margie"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie", "Eliza"),
    "Katherine": ("Kate", "Kathy", "Katie", "Kat"),
    "Jennifer": ("Jen", "Jenny"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Deb", "Debbie"),
    "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"),
    "Christine": ("Chris", "Chrissy", "Tina"),
    "Jessica": ("Jess", "Jessie"),
    "Barbara": ("Barb", "Babs"),
    "Dorothy": ("Dot", "Dottie"),
    "Abigail": ("Abby", "Gail"),
    "Samantha": ("Sam", "Sammy"),
    "Alexandra": ("Alex", "Sandra", "Lexi"),
    "Kimberly": ("Kim",),
    "Pamela": ("Pam",),
    "Cynthia": ("Cindy",),
    "Theresa": ("Terry", "Tess"),
    "Johannes": ("Hannes", "Jo"),
    "Wolfgang": ("Wolf",),
    "Friedrich": ("Fritz",),
    "Josef": ("Sepp", "Jupp"),
    "Katharina": ("Katja", "Kathi"),
    "Franziska": ("Franzi",),
    "Frédéric": ("Fred",),
    "Alexandre": ("Alex",),
    "Guillaume": ("Guigui",),
    "Francisco": ("Paco", "Curro", "Fran"),
    "José": ("Pepe",),
    "Guillermo": ("Memo", "Guille"),
    "Dolores": ("Lola",),
    "Ignacio": ("Nacho",),
    "Concepción": ("Concha",),
}
# Names LeadFlow sees often and that have short forms, by gender, for the English locales.
FORMAL_MALE = tuple(n for n in list(NICKNAMES)[:28])
FORMAL_FEMALE = tuple(n for n in list(NICKNAMES)[28:48])
FORMAL_BY_LOCALE = {
    "de_DE": (("Johannes", "Wolfgang", "Friedrich", "Josef"), ("Katharina", "Franziska")),
    "fr_FR": (("Frédéric", "Alexandre", "Guillaume"), ("Elizabeth",)),
    "es_ES": (("Francisco", "José", "Guillermo", "Ignacio"), ("Dolores", "Concepción")),
}

QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
OCR_CONFUSIONS = (
    ("rn", "m"),
    ("m", "rn"),
    ("0", "O"),
    ("O", "0"),
    ("o", "0"),
    ("1", "l"),
    ("l", "1"),
    ("I", "l"),
    ("5", "S"),
    ("S", "5"),
    ("8", "B"),
    ("B", "8"),
    ("cl", "d"),
    ("d", "cl"),
    ("vv", "w"),
    ("w", "vv"),
    ("e", "c"),
    ("h", "b"),
    ("u", "ii"),
)
STREET_ABBREVIATIONS = (
    ("Street", "St"),
    ("Road", "Rd"),
    ("Avenue", "Ave"),
    ("Drive", "Dr"),
    ("Lane", "Ln"),
    ("Court", "Ct"),
    ("Circle", "Cir"),
    ("Suite", "Ste"),
    ("Apt.", "#"),
    ("straße", "str."),
    ("Straße", "Str."),
    ("avenue", "av."),
    ("chemin", "ch."),
    ("boulevard", "bd"),
    ("rue", "r."),
    ("Calle", "C/"),
    ("Avenida", "Avda."),
    ("Paseo", "Pº"),
    ("Plaza", "Pl."),
)

# Corruption kinds with their weights in each mix. The test mix leans on what is hardest
# (nicknames, swaps, OCR, missing and changed fields) so a finder tuned on the tuning mix
# meets proportions it has not seen.
MIXES = {
    "tuning": {
        "corruptions_per_duplicate": {1: 35, 2: 35, 3: 20, 4: 10},
        "duplicated_share": 0.35,
        "from_earlier_duplicate": 0.25,
        "namesakes": 0.02,
        "relatives": 0.03,
        "twins": 0.005,
        "weights": {
            "name_typo": 12,
            "name_ocr": 5,
            "nickname": 8,
            "names_swapped": 5,
            "first_name_initial": 2,
            "accents_dropped": 4,
            "name_case": 3,
            "last_name_changed": 1,
            "email_missing": 8,
            "email_other": 7,
            "email_typo": 3,
            "email_variant": 2,
            "phone_missing": 8,
            "phone_digit_typo": 4,
            "phone_other": 4,
            "dob_missing": 5,
            "dob_day_month_swapped": 4,
            "dob_digit_typo": 2,
            "address_missing": 6,
            "address_moved": 6,
            "street_typo": 3,
            "street_abbreviated": 4,
            "company_dropped": 3,
            "job_changed": 2,
        },
    },
    "test": {
        "corruptions_per_duplicate": {1: 25, 2: 35, 3: 25, 4: 15},
        "duplicated_share": 0.3,
        "from_earlier_duplicate": 0.35,
        "namesakes": 0.03,
        "relatives": 0.04,
        "twins": 0.01,
        "weights": {
            "name_typo": 10,
            "name_ocr": 7,
            "nickname": 10,
            "names_swapped": 7,
            "first_name_initial": 3,
            "accents_dropped": 4,
            "name_case": 2,
            "last_name_changed": 2,
            "email_missing": 10,
            "email_other": 8,
            "email_typo": 3,
            "email_variant": 2,
            "phone_missing": 8,
            "phone_digit_typo": 5,
            "phone_other": 5,
            "dob_missing": 6,
            "dob_day_month_swapped": 4,
            "dob_digit_typo": 3,
            "address_missing": 7,
            "address_moved": 8,
            "street_typo": 3,
            "street_abbreviated": 3,
            "company_dropped": 3,
            "job_changed": 3,
        },
    },
}
CORRUPTION_KINDS = tuple(MIXES["tuning"]["weights"])
HARD_NEGATIVE_KINDS = ("namesake", "relative", "twin")
ADDRESS_KEYS = ("street_address", "city", "region", "postal_code")


def _keyboard_neighbours() -> dict[str, str]:
    neighbours: dict[str, str] = {}
    for row_index, row in enumerate(QWERTY_ROWS):
        for column, char in enumerate(row):
            near = []
            for other_row in (row_index - 1, row_index, row_index + 1):
                if 0 <= other_row < len(QWERTY_ROWS):
                    for other_column in (column - 1, column, column + 1):
                        candidate_row = QWERTY_ROWS[other_row]
                        if 0 <= other_column < len(candidate_row):
                            near.append(candidate_row[other_column])
            neighbours[char] = "".join(c for c in near if c != char)
    return neighbours


KEYBOARD_NEIGHBOURS = _keyboard_neighbours()
