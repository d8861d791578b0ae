"""File endpoints: upload, record, content, metadata update, delete, verify, listing."""
