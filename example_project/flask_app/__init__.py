"""Example Flask app served on Lambda through apig-wsgi (or Zappa)."""
