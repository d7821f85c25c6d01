"""Providers that carry a message to people: WeCom, SMS, e-mail, console."""
