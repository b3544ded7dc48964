"""The enterprise registry (企业台账) of each tenant."""
