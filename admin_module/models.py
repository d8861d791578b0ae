"""Tables of the admin module (SQLAlchemy Core). Migrations are written by hand."""

import sqlalchemy as sa

metadata = sa.MetaData()
