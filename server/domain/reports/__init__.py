"""Reports for admins: how many problems the AI really solved (confirmed by their users), by period."""
