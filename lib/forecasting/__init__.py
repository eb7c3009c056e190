"""Nowcasting experiment: features, the VH-proxy training window, the drift trigger and the hourly replay."""
