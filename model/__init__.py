"""The anomaly model: multi-scale cross-restoration (Jiang et al. 2023/2024), importable without Qt."""
