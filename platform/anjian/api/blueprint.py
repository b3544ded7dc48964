"""The blueprint every API module declares its routes on."""

from __future__ import annotations

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint; an argument schema given as a class is made once here.

    webargs makes a schema it is given as a class anew for every request it parses,
    and marshmallow copies every declared field of it each time. A schema instance is
    what webargs and flask-smorest take as well; the OpenAPI document is the same.
    """

    def arguments(self, schema, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, **kwargs)
