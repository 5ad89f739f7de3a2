"""The free text after /meet, read into a draft of the create form."""
