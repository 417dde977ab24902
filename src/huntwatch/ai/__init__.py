"""Hunter-trained AI: story features, the ranking model, anomaly leads, noise budget, evaluation."""
