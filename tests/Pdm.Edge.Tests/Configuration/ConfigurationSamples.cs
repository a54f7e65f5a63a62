namespace Pdm.Edge.Tests.Configuration;

/// <summary>Configuration documents shared by the tests.</summary>
internal static class ConfigurationSamples
{
    /// <summary>A valid document that sets every property the parser knows at least once.</summary>
    public const string Full = """
        {
          "$schema": "../docs/edge-configuration.schema.json",
          "schemaVersion": 1,
          "gatewayId": "plant-a-gw1",
          "defaults": { "pollIntervalMs": 2000, "responseTimeoutMs": 800, "httpTimeoutMs": 4000 },
          "modbus": [
            {
              "name": "press-7",
              "machineId": "EG_PRESS_7",
              "tcp": { "host": "10.0.4.21", "port": 1502 },
              "unitId": 3,
              "pollIntervalMs": 500,
              "responseTimeoutMs": 300,
              "registers": [
                { "sensor": "temperature", "table": "holding", "address": 0, "type": "float32", "wordOrder": "lowFirst", "byteOrder": "lowFirst", "scale": 1, "offset": 0, "unit": "degF" },
                { "sensor": "pressure", "table": "input", "address": 4, "type": "uint16", "scale": 0.1 },
                { "sensor": "motor_running", "table": "coil", "address": 0 },
                { "sensor": "door_open", "table": "discrete", "address": 0, "type": "bool" }
              ]
            },
            {
              "name": "pump-3",
              "machineId": "EG_PUMP_3",
              "rtu": { "serialPort": "/dev/ttyUSB0", "baudRate": 9600, "parity": "none", "dataBits": 8, "stopBits": 2 },
              "unitId": 12,
              "registers": [
                { "sensor": "vibration", "table": "input", "address": 0, "scale": 0.01 }
              ]
            }
          ],
          "mqtt": [
            {
              "name": "plant-broker",
              "broker": { "host": "broker.plant-a.local", "port": 8883, "tls": true, "caFile": "/certs/plant-ca.pem", "username": "pdm-edge", "password": "secret" },
              "clientId": "pdm-edge-gw1",
              "subscriptions": [
                {
                  "topic": "plant/+/+/telemetry",
                  "qos": 0,
                  "machineId": "line-{2}-{3}",
                  "timestampPath": "$.ts",
                  "sensors": {
                    "temperature": { "path": "$.temp", "unit": "degF", "scale": 1, "offset": 0 },
                    "vibration": "$.vib.rms"
                  }
                }
              ]
            }
          ],
          "http": [
            {
              "name": "chiller-api",
              "url": "http://10.0.7.5:8080/api/v1/status?key=abc",
              "pollIntervalMs": 10000,
              "timeoutMs": 2500,
              "headers": { "X-Api-Key": "change-me" },
              "machineId": "CHILLER_2",
              "timestampPath": "$.readAt",
              "sensors": { "power": { "path": "$.electrical.powerW", "unit": "W", "scale": 1, "offset": 0 }, "load": "$.loadPercent" }
            }
          ],
          "opc": {
            "mappings": [
              {
                "dataSetWriter": "press-line-1",
                "dataSetName": "PressLine",
                "endpointUrl": "opc.tcp://10.0.9.3:4840",
                "machineId": "EG_PRESS_1",
                "fields": [
                  { "field": "Hydraulics.Pressure", "sensor": "pressure", "unit": "psi", "scale": 1, "offset": 0 }
                ]
              }
            ]
          },
          "queue": { "maxBytes": 268435456 }
        }
        """;

    /// <summary>A small valid document: one Modbus TCP device.</summary>
    public static string Minimal(string machineId = "EG_PRESS_7") => $$"""
        {
          "schemaVersion": 1,
          "gatewayId": "plant-a-gw1",
          "modbus": [
            {
              "name": "press-7",
              "machineId": "{{machineId}}",
              "tcp": { "host": "127.0.0.1" },
              "registers": [ { "sensor": "temperature", "table": "holding", "address": 0, "type": "float32" } ]
            }
          ]
        }
        """;
}
