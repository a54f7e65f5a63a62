namespace Pdm.Simulator;

/// <summary>Event ids of this project's log messages (Simulator range: 9000-9999).</summary>
internal static class LogEvents
{
    public const int DeviceSimulatorStarted = 9001;
    public const int DeviceSimulatorStopped = 9002;
    public const int MalformedMessageSent = 9003;
    public const int TwinMachineBroke = 9010;
    public const int TwinMachineReplaced = 9011;
}
