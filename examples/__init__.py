"""Demo applications: the same site on FastAPI (``fastapi_app``) and on Flask (``flask_app``)."""
