// Placeholder entry point until the worker host lands (issue 4).
return 0;
