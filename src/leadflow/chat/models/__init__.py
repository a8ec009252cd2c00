"""Chat's models, one module per part (flows and conversations, the knowledge base)."""
