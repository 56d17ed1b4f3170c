"""What people use: the command line, the Mesa wrapper (``GeroModel``) and the web view."""
