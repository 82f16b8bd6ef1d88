-- Placeholder on the admin branch: version 4 comes from main (payload versions, worker handlers).
-- The merge of main replaces this file.
INSERT INTO loomwork_schema (version) VALUES (4);
