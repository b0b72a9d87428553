/* app.js: the page's script (placeholder) */
