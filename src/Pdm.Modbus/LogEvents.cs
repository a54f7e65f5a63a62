namespace Pdm.Modbus;

/// <summary>Event ids of this project's log messages (Modbus range: 5400-5499).</summary>
internal static class LogEvents
{
    public const int ServerStarted = 5400;
    public const int ServerStopped = 5401;
    public const int ClientConnected = 5402;
    public const int ClientDisconnected = 5403;
    public const int AcceptFailed = 5404;
    public const int RequestDropped = 5405;
    public const int SerialLineClosed = 5406;
}
