"""The residents' page (``index.html``, ``app.css``, ``app.js``), served by
:mod:`cloud.api.routes.page`. Package data: no Python here."""
