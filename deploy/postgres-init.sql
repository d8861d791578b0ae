-- One database per service (each service owns its own schema and migrations).
CREATE DATABASE artstore_admin;
CREATE DATABASE artstore_se_edit_1;
CREATE DATABASE artstore_se_rw_1;
CREATE DATABASE artstore_ingester;
CREATE DATABASE artstore_query;
