"""Privacy: personal data (phone numbers, e-mail addresses, マイナンバー-like numbers) is masked before
texts are stored (tracker store, feedback) or logged."""
