/// PyTorch's `torch.nn.init.calculate_gain`: linear/identity/sigmoid 1, tanh 5/3, relu √2,
/// leaky_relu √(2/(1 + a²)), selu 3/4.
public func calculateGain(_ nonlinearity: String, a: Double = 0.01) -> Double {
    switch nonlinearity {
    case "tanh": 5.0 / 3.0
    case "relu": 2.0.squareRoot()
    case "leaky_relu": (2 / (1 + a * a)).squareRoot()
    case "selu": 0.75
    default: 1
    }
}
