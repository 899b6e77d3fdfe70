"""Evaluation of a hot-spot programme: did the patrols reduce harm, and who bore them."""
