"""What the pages share: state, navigation and widgets (common), and the panels Compare and Train draw."""
