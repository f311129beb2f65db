"""What every door of the web app shares: extensions, access rules, replies, locale, compression."""
