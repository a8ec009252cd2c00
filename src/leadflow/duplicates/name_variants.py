"""First names and the short forms people go by, beyond the `nicknames` package.

The `nicknames` package lists American English nicknames. LeadFlow's contacts are also
German, French, Spanish and Italian, where Sepp is Josef, Paco is Francisco, Lola is
Dolores and Guigui is Guillaume; and a few English forms it misses (Liam / William,
Katie / Katherine, Bert / Robert). `canonicals_of` and `nicknames_of` answer from both,
folded as `records.name_normalise` folds (lower case, no accents).

`variant_keys` serves the fuzzy nickname test in compare.py: a nickname with a slip in it
("Rihc" for Rich, "Dna" for Dan) is within one edit of a variant of the formal name.
"""

from __future__ import annotations

from functools import lru_cache

from nicknames import NickNamer

# formal name: its short forms (folded). Several formal names may share a short form.
_EXTRA = """
william: liam wim willi
katherine: katie kate kat kathi katja kathie kitty
catherine: katie kate cat cathi cathie
katharina: katja kathi kati trina ina kaethe kathrin
kathrin: kathi katja
kathryn: katie kate kathy
robert: bert rob robbie robby bob bobby
roberto: beto berto tito
albert: bert berti
herbert: herb herbie bert
alexandra: lexi lexie sasha sascha sandra sandy ali alexa
alexander: lex xander sasha sascha sandro alex
alexandre: alex sacha
alejandro: alex alejo jandro
alessandro: sandro alex
victoria: tori vicky viki
jessica: jessie jess jessy
rebecca: becca becky bex
dorothy: dot dottie dotty dora
dorothea: doro thea dora
gregory: greg
gregorio: goyo
timothy: tim timmy
pamela: pam pammy
samantha: sam sammy
susanne: susi sanne suse
susan: susie suzy sue
suzanne: suzy sue
johannes: hannes hans jo johann jens
johann: hans hannes
johanna: hanna hanne jo
josef: sepp jupp joschi seppl
joseph: joe joey jo sepp
jose: pepe pepito chepe
josefa: pepa
josefina: pepita fina
francisco: paco pancho curro fran quico kiko frasco
francisca: paca paquita
franziska: franzi
franz: franzl
francesco: franco cecco
francois: fanfan
francoise: fanfan
dolores: lola loli lolita
concepcion: concha conchi conchita
ignacio: nacho nacio
guillermo: memo guille
guillaume: guigui guille
jesus: chuy chus
manuel: manolo manu lolo
manuela: manu
enrique: quique kike
rosario: charo chayo
mercedes: merche meche
consuelo: chelo
eduardo: lalo edu
luis: lucho
antonio: tono toni tonio tonino
rafael: rafa
santiago: santi yago
vicente: chente
isabel: isa chabela bel
isabelle: isa
isabella: isa bella
montserrat: montse
pilar: pili
asuncion: asun
encarnacion: encarna
inmaculada: inma
remedios: reme
purificacion: puri
teresa: tere tessa tess
theresa: tess
fernando: nando fer
federico: fede
ricardo: richi
javier: javi
miguel: migue
beatriz: bea
margarita: marga
natalia: nati
lucia: lu
rodrigo: rodri
nicolas: nico colas
agustin: agus
friedrich: fritz fred friedel
frederic: fred
frederique: fred
elisabeth: lisa liesel lis elli sissi betti
elizabeth: lizzie liz beth betty
margarete: grete gretel margit
margarethe: grete gretel
wolfgang: wolf
ulrich: uli ulli
ursula: uschi ulla
gabriele: gabi
gabriel: gabi gabe
gabriela: gabi
christian: chris
christine: tine christel
christiane: chris
christoph: chris
christophe: chris
christopher: chris topher
matthias: matze hias
andreas: andi
michael: michi mike
michel: mimi
helmut: helmi
theodor: theo
juergen: jockel
karl: kalle
carl: kalle
ludwig: lutz
magdalena: lena leni magda
helena: lena
helene: lena
maximilian: max maxi
maximilien: max
benjamin: ben benni benny
sebastian: basti sebi
sebastien: seb
tobias: tobi
florian: flo
daniel: dani
daniela: dani
nikolaus: klaus niko
heinrich: heinz heini
rudolf: rudi
wilhelm: willi wim
bernhard: bernd
leopold: poldi
cornelia: conny
veronika: vroni
veronique: vero
johannes: jo
eberhard: ebi
reinhard: reini
philippe: phil
frederick: fritz
dominique: dom domi
stephanie: steph fanny steffi
valerie: val
caroline: caro
emmanuel: manu
emmanuelle: manu
charlotte: lotte lolotte charlie
josephine: josie fifine
pierre: pierrot
louis: loulou
jerome: jeje
bernard: nanard
gerard: gege
laurent: lolo
patricia: patou pati
patrick: pat
mireille: mimi
giuseppe: beppe peppe pino
giovanni: gianni nanni vanni
domenico: mimmo
vincenzo: enzo
luigi: gigi
salvatore: toto turi
"""

_NICKNAMES = NickNamer()


def _table() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    canonicals: dict[str, set[str]] = {}
    nicknames: dict[str, set[str]] = {}
    for line in _EXTRA.strip().splitlines():
        formal, _, shorts = line.partition(":")
        for short in shorts.split():
            canonicals.setdefault(short, set()).add(formal.strip())
            nicknames.setdefault(formal.strip(), set()).add(short)
    return (
        {k: frozenset(v) for k, v in canonicals.items()},
        {k: frozenset(v) for k, v in nicknames.items()},
    )


_CANONICALS, _SHORT_FORMS = _table()


def canonicals_of(name: str) -> frozenset[str]:
    """The formal names `name` is a short form of (`sepp` -> josef, joseph)."""
    return frozenset(_NICKNAMES.canonicals_of(name)) | _CANONICALS.get(name, frozenset())


def nicknames_of(name: str) -> frozenset[str]:
    """The short forms of the formal name `name` (`josef` -> sepp, jupp, ...)."""
    return frozenset(_NICKNAMES.nicknames_of(name)) | _SHORT_FORMS.get(name, frozenset())


@lru_cache(maxsize=65536)
def one_edit_keys(name: str) -> frozenset[str]:
    """The name and every form of it with one letter left out: two names are within one
    edit (a letter wrong, missing or extra, or two swapped) when their keys meet. Names
    under three letters have no deletions (two letters would meet too much)."""
    if len(name) < 3:
        return frozenset({name})
    return frozenset({name} | {name[:i] + name[i + 1 :] for i in range(len(name))})


@lru_cache(maxsize=65536)
def variant_keys(name: str) -> frozenset[str]:
    """`one_edit_keys` of the name, of the formal names it stands for and of their short
    forms: a name whose own keys meet these is a nickname of it give or take one slip."""
    if not name:
        return frozenset()
    word = name.split()[0]
    formal = {word} | canonicals_of(word)
    variants = set(formal)
    for root in formal:
        variants |= nicknames_of(root)
    keys: set[str] = set()
    for variant in variants:
        keys |= one_edit_keys(variant)
    return frozenset(keys)
