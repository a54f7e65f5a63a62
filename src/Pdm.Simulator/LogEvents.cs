namespace Pdm.Simulator;

/// <summary>Event ids of this project's log messages (Simulator range: 9000-9999).</summary>
internal static class LogEvents
{
    public const int TwinMachineBroke = 9010;
    public const int TwinMachineReplaced = 9011;

    // The Modbus slave (Plc/ModbusServer.cs).
    public const int ServerStarted = 9100;
    public const int ServerStopped = 9101;
    public const int ClientConnected = 9102;
    public const int ClientDisconnected = 9103;
    public const int AcceptFailed = 9104;
    public const int RequestDropped = 9105;
    public const int SerialLineClosed = 9106;
}
