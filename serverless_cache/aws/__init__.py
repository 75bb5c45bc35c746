"""AWS helpers: API Gateway stage cache settings and CloudFront cache policies, generated from
the same :class:`~serverless_cache.http.CachePolicy` the views send, and CloudFront
invalidation. boto3 is imported only by the functions that call AWS.
"""
