"""What the pages share: state, navigation and widgets (common), and the panels Compare and Train draw.

They live below pages/ so that Streamlit never lists them as pages of their own.
"""
