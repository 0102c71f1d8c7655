"""Outreach: campaigns, selection, channels, lists, outcomes, reconciliation and indicators."""
