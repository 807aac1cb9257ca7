"""Operations: a multi-process cluster on PostgreSQL and Redis, tracker-store retention, JSON logs."""
