"""Search across the organisation: one interface, two back ends.

- `index`     writes the index inside the unit of work that changes what it indexes (a case opened,
              a task's form data, a document attached, an agenda item written) and removes it again.
- `text`      turns form data, PDF, Word and plain-text files into indexable text; parses queries.
- `backends`  the full-text dialects: SQLite FTS5 (embedded default) and PostgreSQL tsvector + GIN
              with the `danish` configuration. Both answer the same `Match` questions.
- `service`   `search(...)`: filters, permissions (in SQL), ranking, paging, snippets, access log;
              `catch_up(...)`: index cases that have no index row yet (databases from before search).

Storage: engine/models/search.py.
"""
