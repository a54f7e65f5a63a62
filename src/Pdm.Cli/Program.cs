Console.WriteLine("pdm: under construction");
