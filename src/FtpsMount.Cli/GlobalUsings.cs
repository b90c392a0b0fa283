// Profiles, status files and the service client live in FtpsMount.Service (shared with the service and the tray).
global using FtpsMount.Service;
