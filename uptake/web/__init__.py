"""The web application: server-rendered French pages for social workers, the DPO and the data team."""
