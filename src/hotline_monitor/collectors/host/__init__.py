"""The host collector: the agent's own machine, in Telegraf's measurement and field names."""
