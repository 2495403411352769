"""The robot TCP adapter: the listening server, and a session per connection."""
