"""What visitors see: the banner, the settings and the library's pages, in their language.

:mod:`~cookieconsent.ui.render` fills the templates (``templates/``) with the texts
(:mod:`~cookieconsent.ui.i18n`, ``locales/``); ``static/`` holds the banner's script and style.
"""
