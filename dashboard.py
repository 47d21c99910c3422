"""CNN vs RNN: build, train and compare convolutional and recurrent networks on real data."""

from app_pages.parts.common import navigate

navigate()
