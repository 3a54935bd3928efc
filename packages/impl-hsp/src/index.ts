// The HSP client lands here (issue 10).
export {};
