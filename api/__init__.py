"""The JSON API v1 and its event stream, documented by an OpenAPI 3 document."""
