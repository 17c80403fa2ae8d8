"""K-means customer segmentation with k chosen by silhouette, and readable segment profiles."""
