// Placeholder: the idle warning and cross-tab sync arrive with the browser-side issue.
