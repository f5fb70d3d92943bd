"""Reading HTML, CSS and URLs as browsers do, to neutralise what loads a tracker before consent.

:mod:`~cookieconsent.blocking.rewriter` streams a page, :mod:`~cookieconsent.blocking.css` reads its
style sheets, :mod:`~cookieconsent.blocking.urls` resolves its URLs (WHATWG), and
:mod:`~cookieconsent.blocking.trackers` is the catalog they are judged against.
"""
