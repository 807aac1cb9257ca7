"""The answer-feedback store: 👍/👎 and comments on the guide's answers, outside the knowledge base."""
