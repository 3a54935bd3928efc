// The rendezvous (pipe) client and the blob-sync client land here (issues 8 and 9).
export {};
