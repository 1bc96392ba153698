"""What each page draws, one module per page; pages/ call these and stay thin."""
