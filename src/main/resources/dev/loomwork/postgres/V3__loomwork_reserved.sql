-- Version 3 is reserved for the worker row's handlers and versions (branch `deploys`), which was
-- written at the same time as version 4. This placeholder only records the version; the lead
-- replaces it with that migration when both are merged.
INSERT INTO loomwork_schema (version) VALUES (3);
