"""CNN vs RNN: build, train and compare convolutional and recurrent networks on real data."""

from app_pages.parts.navigation import navigate

navigate()
